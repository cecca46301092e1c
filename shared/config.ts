/**
 * Configuration is read once, at module load, through a throwing accessor: a missing variable
 * fails the cold start loudly instead of the thousandth request quietly.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}
