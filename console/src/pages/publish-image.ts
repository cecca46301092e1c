import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import * as contract from '../../../shared/contract/index.js';
import type { ResponseOf } from '../../../shared/contract/index.js';
import { FlashlineApiError } from '../api.js';
import { ErrorNotice } from '../components/error-notice.js';
import { RestrictionsFields } from '../components/restrictions-fields.js';
import { formatCount } from '../format.js';
import { asApiError, useConsole, usePolling } from '../hooks.js';
import { type RestrictionsDraft, autoPauseProblem, draftOf, restrictionsOf } from '../restrictions.js';
import { can, needsNote } from '../permissions.js';
import { href } from '../router.js';
import { MAX_BROWSER_IMAGE_BYTES, putWithProgress, sha256Hex } from '../upload.js';

type Registered = ResponseOf<typeof contract.registerImage>;
type Delivery = 'direct' | 'cloud';

type Phase =
  | { step: 'form' }
  | { step: 'hashing' }
  | { step: 'registering' }
  | { step: 'uploading'; registered: Registered; sent: number; total: number }
  | { step: 'verifying'; registered: Registered }
  | { step: 'upload-failed'; registered: Registered; error: FlashlineApiError }
  | { step: 'done'; registered: Registered };

/** The verifier runs on S3's notification; polling its verdict this often costs one read. */
const VERIFY_POLL_MS = 2_000;

export function PublishImagePage({ factoryId: initialFactoryId }: { factoryId?: string }) {
  const { api, caller } = useConsole();
  const factories = usePolling(() => api.listAll(contract.listFactories, { query: { limit: 100 } }), null, []);
  const [factoryId, setFactoryId] = useState(initialFactoryId ?? '');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [delivery, setDelivery] = useState<Delivery>('cloud');
  const [file, setFile] = useState<File | undefined>();
  const [contentSha256, setContentSha256] = useState('');
  const [sizeBytes, setSizeBytes] = useState('');
  const [encryptionKeyId, setEncryptionKeyId] = useState('');
  const [serialStart, setSerialStart] = useState('');
  const [serialFormat, setSerialFormat] = useState('');
  const [restrictions, setRestrictions] = useState<RestrictionsDraft>(draftOf(undefined));
  const [phase, setPhase] = useState<Phase>({ step: 'form' });
  const [error, setError] = useState<FlashlineApiError | undefined>();
  const [checked, setChecked] = useState(false);

  // The default factory until the author picks one: registration needs a factory id.
  useEffect(() => {
    if (!factoryId && factories.data) setFactoryId(factories.data.find((factory) => factory.isDefault)?.factoryId ?? factories.data[0]?.factoryId ?? '');
  }, [factories.data]);

  const upload = async (registered: Registered, instructions: NonNullable<Registered['upload']>, body: File) => {
    setPhase({ step: 'uploading', registered, sent: 0, total: body.size });
    try {
      await putWithProgress(instructions.url, instructions.headers, body, (sent, total) => setPhase({ step: 'uploading', registered, sent, total }));
      setPhase({ step: 'verifying', registered });
    } catch (problem) {
      setPhase({ step: 'upload-failed', registered, error: new FlashlineApiError(0, 'upload_failed', (problem as Error).message) });
    }
  };

  const retryUpload = async (registered: Registered) => {
    if (!file) return;
    try {
      const { upload: fresh } = await api.call(contract.createUploadUrl, { params: { imageId: registered.image.imageId } });
      await upload(registered, fresh, file);
    } catch (problem) {
      setPhase({ step: 'upload-failed', registered, error: asApiError(problem) });
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setChecked(true);
    const restrictionsProblem = autoPauseProblem(restrictions);
    if (restrictionsProblem) return setError(new FlashlineApiError(0, 'invalid_restrictions', restrictionsProblem.message));
    if (delivery === 'cloud' && !file) return setError(new FlashlineApiError(0, 'file_required', 'Choose the encrypted image file: cloud delivery uploads it.'));
    if (file && file.size > MAX_BROWSER_IMAGE_BYTES) {
      return setError(new FlashlineApiError(0, 'file_too_large_for_browser', `The page can hash files up to ${formatCount(MAX_BROWSER_IMAGE_BYTES)} bytes; publish larger images with flashline image publish.`));
    }
    try {
      setPhase({ step: 'hashing' });
      const checksum = file ? await sha256Hex(file) : contentSha256.trim().toLowerCase();
      setPhase({ step: 'registering' });
      const serials = serialStart.trim() === '' && serialFormat.trim() === '' ? undefined : { start: serialStart.trim() === '' ? 0 : Number(serialStart), ...(serialFormat.trim() && { format: serialFormat.trim() }) };
      const registered = await api.call(contract.registerImage, {
        body: {
          name,
          ...(description.trim() && { description }),
          factoryId,
          contentSha256: checksum,
          sizeBytes: file ? file.size : Number(sizeBytes),
          delivery,
          ...(encryptionKeyId.trim() && { encryptionKeyId: encryptionKeyId.trim() }),
          restrictions: restrictionsOf(restrictions, { clearAutoPause: false }) as contract.RegisterImageInput['restrictions'],
          ...(serials && { serials }),
        },
      });
      if (registered.upload && file) await upload(registered, registered.upload, file);
      else setPhase({ step: 'done', registered });
    } catch (problem) {
      setError(asApiError(problem));
      setPhase({ step: 'form' });
    }
  };

  if (!can(caller, contract.registerImage, initialFactoryId)) {
    return html`<h1>Publish an image</h1>
      <p class="empty">${needsNote(caller, contract.registerImage, 'publishes images')}</p>`;
  }

  if (phase.step !== 'form' && phase.step !== 'hashing' && phase.step !== 'registering') {
    return html`<h1>Publish an image</h1>
      <${Outcome} phase=${phase} onVerified=${(registered: Registered) => setPhase({ step: 'done', registered })} onRetry=${retryUpload} />
      <p><button type="button" onClick=${() => setPhase({ step: 'form' })}>Publish another image</button></p>`;
  }

  const working = phase.step !== 'form';
  return html`
    <h1>Publish an image</h1>
    <p class="help">Registers a generated image for a factory and creates its job. Cloud delivery uploads the encrypted image from this browser; direct delivery registers its checksum only.</p>
    <${ErrorNotice} error=${factories.error} title="Could not load the factories" />
    <form class="grid-form" onSubmit=${submit} aria-describedby=${error ? 'publish-error' : undefined}>
      <label for="image-factory">Factory</label>
      <select id="image-factory" value=${factoryId} required onChange=${(event: Event) => setFactoryId((event.target as HTMLSelectElement).value)}>
        ${(factories.data ?? []).map((factory) => html`<option value=${factory.factoryId}>${factory.name}</option>`)}
      </select>
      <label for="image-name">Name</label>
      <input id="image-name" value=${name} required maxlength="100" onInput=${(event: Event) => setName((event.target as HTMLInputElement).value)} />
      <label for="image-description">Description</label>
      <input id="image-description" value=${description} maxlength="2000" onInput=${(event: Event) => setDescription((event.target as HTMLInputElement).value)} />
      <fieldset class="choice">
        <legend>Delivery</legend>
        <label><input type="radio" name="delivery" value="cloud" checked=${delivery === 'cloud'} onChange=${() => setDelivery('cloud')} /> Cloud: upload the encrypted image; programmers download it</label>
        <label><input type="radio" name="delivery" value="direct" checked=${delivery === 'direct'} onChange=${() => setDelivery('direct')} /> Direct: the image reaches programmers another way; register its checksum</label>
      </fieldset>
      <label for="image-file">Image file</label>
      <input id="image-file" type="file" aria-describedby="image-file-help" onChange=${(event: Event) => setFile((event.target as HTMLInputElement).files?.[0])} />
      <p id="image-file-help" class="help">${delivery === 'cloud' ? 'Required. Its SHA-256 is computed in this page before the upload.' : 'Optional: choose it to compute its SHA-256 and size here (it is not uploaded), or type them below.'}</p>
      ${delivery === 'direct' &&
      !file &&
      html`
        <label for="image-sha256">SHA-256 (hex)</label>
        <input id="image-sha256" value=${contentSha256} required pattern="[0-9a-fA-F]{64}" maxlength="64" spellcheck=${false} onInput=${(event: Event) => setContentSha256((event.target as HTMLInputElement).value)} />
        <label for="image-size">Size (bytes)</label>
        <input id="image-size" type="number" min="1" step="1" value=${sizeBytes} required onInput=${(event: Event) => setSizeBytes((event.target as HTMLInputElement).value)} />
      `}
      <label for="image-key">Encryption key id</label>
      <input id="image-key" value=${encryptionKeyId} required=${delivery === 'cloud'} maxlength="128" aria-describedby="image-key-help" onInput=${(event: Event) => setEncryptionKeyId((event.target as HTMLInputElement).value)} />
      <p id="image-key-help" class="help">The key the image is encrypted with${delivery === 'cloud' ? ' (required for cloud delivery)' : ''}: only programmers holding it may download it.</p>
      <label for="image-serial-start">First serial number</label>
      <input id="image-serial-start" type="number" min="0" step="1" value=${serialStart} onInput=${(event: Event) => setSerialStart((event.target as HTMLInputElement).value)} />
      <label for="image-serial-format">Serial format</label>
      <input id="image-serial-format" value=${serialFormat} placeholder="SN-{n:08}" aria-describedby="image-serial-format-help" onInput=${(event: Event) => setSerialFormat((event.target as HTMLInputElement).value)} />
      <p id="image-serial-format-help" class="help"><code>{n}</code> is the number; <code>{n:08}</code> pads it to 8 digits.</p>
      <${RestrictionsFields} draft=${restrictions} onChange=${setRestrictions} idPrefix="image" editing=${false} checked=${checked} />
      <button type="submit" class="primary" disabled=${working}>${phase.step === 'hashing' ? 'Computing SHA-256…' : phase.step === 'registering' ? 'Registering…' : 'Publish'}</button>
    </form>
    <div id="publish-error"><${ErrorNotice} error=${error} title="Could not publish the image" /></div>
  `;
}

function Outcome({ phase, onVerified, onRetry }: { phase: Exclude<Phase, { step: 'form' | 'hashing' | 'registering' }>; onVerified: (registered: Registered) => void; onRetry: (registered: Registered) => void }) {
  const { registered } = phase;
  return html`
    <section aria-labelledby="outcome-heading">
      <h2 id="outcome-heading">${registered.image.name}</h2>
      <dl class="pairs">
        <dt>Job</dt><dd><a href=${href.job(registered.job.jobId)}>${registered.job.name}</a></dd>
        <dt>Image</dt><dd><a href=${href.image(registered.image.imageId)}><code>${registered.image.imageId}</code></a></dd>
        <dt>SHA-256</dt><dd><code>${registered.image.contentSha256}</code></dd>
        <dt>Size</dt><dd>${formatCount(registered.image.sizeBytes)} bytes</dd>
      </dl>
      ${phase.step === 'uploading' &&
      html`<p>
        <label for="upload-progress">Uploading</label>
        <progress id="upload-progress" max=${phase.total} value=${phase.sent}></progress>
        <span>${phase.total > 0 ? Math.floor((phase.sent / phase.total) * 100) : 0} %</span>
      </p>`}
      ${phase.step === 'verifying' && html`<${Verifying} imageId=${registered.image.imageId} onDone=${(image: Registered['image']) => onVerified({ ...registered, image })} />`}
      ${phase.step === 'upload-failed' &&
      html`<${ErrorNotice} error=${phase.error} title="The upload failed" />
        <button type="button" class="primary" onClick=${() => onRetry(registered)}>Retry the upload</button>`}
      ${phase.step === 'done' && html`<p class="notice" role="status">Image ${registered.image.status}${registered.image.rejectionReason ? `: ${registered.image.rejectionReason}` : ''}.</p>`}
      <details>
        <summary>Binding (embed it in the image)</summary>
        <pre class="binding" tabindex="0" aria-label="Binding">${registered.binding}</pre>
      </details>
    </section>
  `;
}

/** Waits for the verifier's verdict on the uploaded object. */
function Verifying({ imageId, onDone }: { imageId: string; onDone: (image: Registered['image']) => void }) {
  const { api } = useConsole();
  const image = usePolling(() => api.call(contract.getImage, { params: { imageId } }), VERIFY_POLL_MS, [imageId]);
  const status = image.data?.image.status;
  useEffect(() => {
    if (image.data && status !== 'pending_upload') onDone(image.data.image);
  }, [status]);
  return html`<p role="status">Uploaded: the cloud is checking its size and SHA-256…</p>
    <${ErrorNotice} error=${image.error} title="Could not read the image" />`;
}
