import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { Job } from '../api.js';
import { useConsole } from '../hooks.js';
import { can } from '../permissions.js';
import { ErrorNotice } from './error-notice.js';
import { useChange } from './group-editor.js';

type Replaced = contract.ResponseOf<typeof contract.replaceJobImage>;

async function sha256Hex(file: File): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Replace a job's image from the browser: the file's SHA-256 and size are computed here (the
 * same checks the cloud makes on upload), the job keeps its counters and serial position, and a
 * cloud image goes straight up to its presigned URL. The new binding is shown for the image tool.
 */
export function ReplaceImage({ job, onReplaced }: { job: Job; onReplaced: (job: Job) => void }) {
  const { api, caller } = useConsole();
  const [file, setFile] = useState<File | undefined>();
  const [name, setName] = useState('');
  const [delivery, setDelivery] = useState<'direct' | 'cloud'>('direct');
  const [encryptionKeyId, setEncryptionKeyId] = useState('');
  const [replaced, setReplaced] = useState<Replaced | undefined>();
  const change = useChange();

  const submit = (event: Event) => {
    event.preventDefault();
    if (!file) return;
    void change.run(async () => {
      const body = {
        name: name.trim() || file.name,
        contentSha256: await sha256Hex(file),
        sizeBytes: file.size,
        delivery,
        ...(delivery === 'cloud' && { encryptionKeyId }),
      };
      const result = await api.call(contract.replaceJobImage, { params: { jobId: job.jobId }, body });
      if (result.upload) {
        const put = await fetch(result.upload.url, { method: 'PUT', headers: result.upload.headers, body: file });
        if (!put.ok) throw new Error(`upload answered ${put.status}`);
      }
      setReplaced(result);
      onReplaced(result.job);
    }, () => undefined);
  };

  return html`<section aria-labelledby="replace-heading" class="replace-image">
    <h2 id="replace-heading">Image <span class="help">version ${job.imageVersion}</span></h2>
    ${can(caller, contract.replaceJobImage, job.factoryId) &&
    html`<details>
      <summary>Replace image</summary>
      <p class="help">Counters, serials, unit data, restrictions and targets stay.</p>
      <form onSubmit=${submit}>
        <label>Image file <input type="file" required onChange=${(event: Event) => setFile((event.target as HTMLInputElement).files?.[0])} /></label>
        <label>Name <input value=${name} maxLength=${200} placeholder="the file's name" onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} /></label>
        <label>Delivery
          <select value=${delivery} onChange=${(event: Event) => setDelivery((event.target as HTMLSelectElement).value as 'direct' | 'cloud')}>
            <option value="direct">Direct</option>
            <option value="cloud">Cloud</option>
          </select>
        </label>
        ${delivery === 'cloud' &&
        html`<label>Encryption key id <input value=${encryptionKeyId} required maxLength=${128} onInput=${(event: Event) => setEncryptionKeyId((event.target as HTMLInputElement).value)} /></label>`}
        <button type="submit" disabled=${change.busy || !file}>${change.busy ? 'Replacing…' : 'Replace image'}</button>
      </form>
    </details>`}
    <${ErrorNotice} error=${change.error} title="Could not replace the image" />
    ${replaced &&
    html`<div class="notice" role="status">
      <p>Image replaced: now version ${replaced.job.imageVersion} (${replaced.image.name}, ${replaced.image.status}).</p>
      <label>New binding <textarea readonly rows="3" value=${replaced.binding}></textarea></label>
    </div>`}
  </section>`;
}
