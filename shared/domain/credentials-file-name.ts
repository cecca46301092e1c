/**
 * The file name a new credentials file gets, the same in the CLI (written to disk) and the
 * console (downloaded): `Line 3 (east)` → `line-3-east.credentials.json`.
 */
export function credentialsFileName(name: string): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'credentials';
  return `${slug}.credentials.json`;
}
