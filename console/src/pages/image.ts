import { html } from 'htm/preact';
import * as contract from '../../../shared/contract/index.js';
import { ErrorNotice } from '../components/error-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { Timestamp } from '../components/time-ago.js';
import { formatCount } from '../format.js';
import { useConsole, usePolling } from '../hooks.js';
import { href } from '../router.js';

/** An image's metadata and status; refreshed while an upload is still awaited. */
export function ImagePage({ imageId }: { imageId: string }) {
  const { api } = useConsole();
  const loaded = usePolling(() => api.call(contract.getImage, { params: { imageId } }), 5_000, [imageId]);
  const image = loaded.data?.image;
  return html`
    <h1>${image ? html`${image.name} <${StatusBadge} status=${image.status} />` : 'Image'}</h1>
    <${ErrorNotice} error=${loaded.error} title="Could not load the image" />
    ${!image && !loaded.error && html`<p role="status">Loading…</p>`}
    ${image &&
    html`<dl class="pairs">
      <dt>Job</dt><dd><a href=${href.job(image.jobId)}>Open the job</a></dd>
      <dt>Image id</dt><dd><code>${image.imageId}</code></dd>
      <dt>Description</dt><dd>${image.description ?? '—'}</dd>
      <dt>Delivery</dt><dd>${image.delivery}</dd>
      <dt>SHA-256</dt><dd><code>${image.contentSha256}</code></dd>
      <dt>Size</dt><dd>${formatCount(image.sizeBytes)} bytes</dd>
      <dt>Encryption key id</dt><dd>${image.encryptionKeyId ? html`<code>${image.encryptionKeyId}</code>` : '—'}</dd>
      ${image.rejectionReason && html`<dt>Rejected because</dt><dd>${image.rejectionReason}</dd>`}
      <dt>Steps</dt><dd>${image.steps.length === 0 ? '—' : image.steps.map((step) => step.description ?? step.kind).join(' → ')}</dd>
      <dt>Registered</dt><dd><${Timestamp} at=${image.createdAt} /></dd>
    </dl>`}
  `;
}
