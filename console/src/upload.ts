/**
 * The browser half of a cloud-delivery upload: the page hashes the file itself (the API signs
 * the SHA-256 into the presigned PUT, and the verifier compares it with what arrived) and PUTs
 * it straight to S3, reporting progress. Nothing of the image passes through the API.
 */

/**
 * Web Crypto digests a whole buffer at once (it has no streaming form), so the file is read
 * into memory: above this size the page sends the author to the CLI, which streams.
 */
export const MAX_BROWSER_IMAGE_BYTES = 1024 ** 3;

export function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(file: Blob): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * PUTs `body` with exactly the headers the API signed. XMLHttpRequest, because fetch still
 * reports no upload progress; `onProgress(sent, total)` follows the bytes on the wire.
 */
export function putWithProgress(url: string, headers: Record<string, string>, body: Blob, onProgress: (sent: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : body.size);
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(body.size, body.size);
        resolve();
      } else {
        // S3 answers XML; its <Code> (SignatureDoesNotMatch, AccessDenied, …) is what an operator can act on.
        const code = /<Code>([^<]+)<\/Code>/.exec(request.responseText)?.[1];
        reject(new UploadError(`the storage refused the upload with HTTP ${request.status}${code ? ` (${code})` : ''}`, request.status));
      }
    };
    request.onerror = () => reject(new UploadError('the upload did not reach the storage: offline, or it does not allow this origin', 0));
    request.send(body);
  });
}
