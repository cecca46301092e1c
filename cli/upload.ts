import { createReadStream } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

export interface UploadResult {
  status: number;
  body: string;
}

/**
 * PUTs a file to a presigned URL with exactly the headers the API returned (they are part of the
 * signature) plus its length. node:http rather than fetch: S3 wants a Content-Length, not a
 * chunked stream, and writing the file ourselves lets us report progress as it goes out.
 */
export function putFile(
  url: string,
  headers: Record<string, string>,
  file: string,
  sizeBytes: number,
  onProgress: (sentBytes: number) => void,
  signal?: AbortSignal,
): Promise<UploadResult> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(target, { method: 'PUT', headers: { ...headers, 'content-length': String(sizeBytes) }, signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    const source = createReadStream(file, { highWaterMark: 64 * 1024 });
    let sent = 0;
    source.on('data', (chunk) => {
      sent += chunk.length;
      onProgress(sent);
    });
    source.on('error', (error) => request.destroy(error));
    source.pipe(request);
  });
}
