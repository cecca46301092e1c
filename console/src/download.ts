/**
 * Hands a file to the browser's download manager: built from memory as a Blob, so a secret
 * (a credentials file) never travels through a URL, a server or storage of the console.
 */
export function downloadJson(fileName: string, data: unknown): void {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the link's click; the object URL is no longer needed.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
