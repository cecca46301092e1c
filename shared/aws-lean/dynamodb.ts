import type * as Sdk from '@aws-sdk/lib-dynamodb';
import { type marshallOptions, marshall, type unmarshallOptions, unmarshall } from '@aws-sdk/util-dynamodb';
import { type JsonReviver, type LeanClientConfig, JsonProtocolClient, base64ToBytes, bytesToBase64 } from './json-protocol.js';

/**
 * The part of `@aws-sdk/lib-dynamodb` (and of `@aws-sdk/client-dynamodb`'s client) that
 * shared/store uses, over the lean JSON-protocol call (json-protocol.ts). The device-api bundle
 * gets it in place of those two packages through an esbuild alias
 * (infra/constructs/function-bundling.ts); the store's source keeps importing the SDK, and its
 * types are the SDK's.
 *
 * It converts exactly the members lib-dynamodb converts, with the same `@aws-sdk/util-dynamodb`
 * functions and the options given to `DynamoDBDocumentClient.from`: inputs `Key`, `Item`,
 * `ExpressionAttributeValues`, `ExclusiveStartKey` (per transaction item, per batch request);
 * outputs `Item`, `Attributes`, `Items`, `LastEvaluatedKey`, `Responses`, `Unprocessed*`,
 * `ItemCollectionKey`. Everything else (`ConsumedCapacity`, `Count`…) passes through as DynamoDB
 * sent it. Errors are left as the SDK leaves them: lib-dynamodb converts successful outputs
 * only, so a `ConditionalCheckFailedException`'s `Item` and a cancelled transaction's
 * `CancellationReasons[].Item` stay in AttributeValue form (shared/store/authorizations.ts
 * unmarshalls the former itself).
 *
 * Not covered: the legacy parameters (`Expected`, `AttributeUpdates`, `KeyConditions`,
 * `QueryFilter`, `ScanFilter`), Scan, TransactGet, ExecuteStatement and paginators. A store
 * change that imports one of them fails the device bundle's build (esbuild: no such export),
 * not a request.
 */

type Native = Record<string, unknown>;
type Wire = Record<string, unknown>;

interface Codec {
  toWire: (item: unknown) => Wire | undefined;
  fromWire: (item: unknown) => Native | undefined;
}

/** Applies `convert` to the members of `record` named in `fields` that are present. */
function convertFields(record: unknown, fields: readonly string[], convert: (value: unknown) => unknown): Native | undefined {
  if (!record || typeof record !== 'object') return record as undefined;
  const copy: Native = { ...(record as Native) };
  for (const field of fields) if (copy[field] !== undefined) copy[field] = convert(copy[field]);
  return copy;
}

/** `fn` over the values of a per-table record (`RequestItems`, `Responses`…). */
function perTable(record: unknown, fn: (value: any) => unknown): Native | undefined {
  if (!record || typeof record !== 'object') return record as undefined;
  return Object.fromEntries(Object.entries(record).map(([table, value]) => [table, fn(value)]));
}

const EXPRESSION_INPUT = ['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey'] as const;
const ITEM_OUTPUT = ['Item', 'Attributes', 'LastEvaluatedKey'] as const;

const collectionMetrics = (metrics: unknown, codec: Codec) => convertFields(metrics, ['ItemCollectionKey'], codec.fromWire);

abstract class DocumentCommand<Input extends object, Output extends object> {
  abstract readonly operation: string;
  constructor(readonly input: Input) {}

  /** The input with its native values marshalled, as DynamoDB expects it. */
  toWire(codec: Codec): unknown {
    return convertFields(this.input, EXPRESSION_INPUT, codec.toWire);
  }

  /** DynamoDB's output with its AttributeValues unmarshalled. */
  fromWire(output: Wire, codec: Codec): Output {
    const converted = convertFields(output, ITEM_OUTPUT, codec.fromWire)!;
    if (Array.isArray(converted.Items)) converted.Items = converted.Items.map(codec.fromWire);
    if (converted.ItemCollectionMetrics) converted.ItemCollectionMetrics = collectionMetrics(converted.ItemCollectionMetrics, codec);
    return converted as Output;
  }
}

// The single-item commands and Query convert only the common members.
export class GetCommand extends DocumentCommand<Sdk.GetCommandInput, Sdk.GetCommandOutput> { readonly operation = 'GetItem'; }
export class PutCommand extends DocumentCommand<Sdk.PutCommandInput, Sdk.PutCommandOutput> { readonly operation = 'PutItem'; }
export class UpdateCommand extends DocumentCommand<Sdk.UpdateCommandInput, Sdk.UpdateCommandOutput> { readonly operation = 'UpdateItem'; }
export class DeleteCommand extends DocumentCommand<Sdk.DeleteCommandInput, Sdk.DeleteCommandOutput> { readonly operation = 'DeleteItem'; }
export class QueryCommand extends DocumentCommand<Sdk.QueryCommandInput, Sdk.QueryCommandOutput> { readonly operation = 'Query'; }

export class BatchGetCommand extends DocumentCommand<Sdk.BatchGetCommandInput, Sdk.BatchGetCommandOutput> {
  readonly operation = 'BatchGetItem';
  override toWire(codec: Codec): unknown {
    const keys = (request: { Keys?: unknown[] }) => ({ ...request, Keys: request.Keys?.map(codec.toWire) });
    return { ...this.input, RequestItems: perTable(this.input.RequestItems, keys) };
  }
  override fromWire(output: Wire, codec: Codec): Sdk.BatchGetCommandOutput {
    const keys = (request: { Keys?: unknown[] }) => ({ ...request, Keys: request.Keys?.map(codec.fromWire) });
    return {
      ...output,
      Responses: perTable(output.Responses, (items: unknown[]) => items.map(codec.fromWire)),
      UnprocessedKeys: perTable(output.UnprocessedKeys, keys),
    } as Sdk.BatchGetCommandOutput;
  }
}

type WriteRequest = { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };

function writeRequests(requests: WriteRequest[], convert: (item: unknown) => unknown): WriteRequest[] {
  return requests.map((request) => ({
    ...request,
    ...(request.PutRequest && { PutRequest: { ...request.PutRequest, Item: convert(request.PutRequest.Item) } }),
    ...(request.DeleteRequest && { DeleteRequest: { ...request.DeleteRequest, Key: convert(request.DeleteRequest.Key) } }),
  }));
}

const perTableMetrics = (metrics: unknown, codec: Codec) => perTable(metrics, (list: unknown[]) => list.map((entry) => collectionMetrics(entry, codec)));

export class BatchWriteCommand extends DocumentCommand<Sdk.BatchWriteCommandInput, Sdk.BatchWriteCommandOutput> {
  readonly operation = 'BatchWriteItem';
  override toWire(codec: Codec): unknown {
    return { ...this.input, RequestItems: perTable(this.input.RequestItems, (requests: WriteRequest[]) => writeRequests(requests, codec.toWire)) };
  }
  override fromWire(output: Wire, codec: Codec): Sdk.BatchWriteCommandOutput {
    return {
      ...output,
      UnprocessedItems: perTable(output.UnprocessedItems, (requests: WriteRequest[]) => writeRequests(requests, codec.fromWire)),
      ItemCollectionMetrics: perTableMetrics(output.ItemCollectionMetrics, codec),
    } as Sdk.BatchWriteCommandOutput;
  }
}

const TRANSACT_WRITE_KINDS = ['Put', 'Update', 'Delete', 'ConditionCheck'] as const;

export class TransactWriteCommand extends DocumentCommand<Sdk.TransactWriteCommandInput, Sdk.TransactWriteCommandOutput> {
  readonly operation = 'TransactWriteItems';
  override toWire(codec: Codec): unknown {
    const member = (item: object) => convertFields(item, TRANSACT_WRITE_KINDS, (params) => convertFields(params, EXPRESSION_INPUT, codec.toWire));
    return { ...this.input, TransactItems: this.input.TransactItems?.map(member) };
  }
  override fromWire(output: Wire, codec: Codec): Sdk.TransactWriteCommandOutput {
    return { ...output, ItemCollectionMetrics: perTableMetrics(output.ItemCollectionMetrics, codec) } as Sdk.TransactWriteCommandOutput;
  }
}

export type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';

/**
 * DynamoDB's JSON carries binary attributes as base64 (`{"B": "…"}`, `{"BS": ["…"]}`); the SDK
 * hands them to util-dynamodb as bytes. No other member of DynamoDB's responses is named `B` or
 * `BS` (item attributes named so hold an AttributeValue object, never a string), so the key
 * alone identifies them.
 */
const binaryReviver: JsonReviver = (key, value) => {
  if (key === 'B' && typeof value === 'string') return base64ToBytes(value);
  if (key === 'BS' && Array.isArray(value) && value.every((entry) => typeof entry === 'string')) return value.map((entry) => base64ToBytes(entry));
  return value;
};

/** The reverse, on the way out: `marshall` leaves bytes as Uint8Array, JSON wants base64. */
function binaryReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `value` has been through Buffer#toJSON already; the holder still has the bytes.
  const original = this[key];
  return original instanceof Uint8Array ? bytesToBase64(original) : value;
}

/** Stands in for `@aws-sdk/client-dynamodb`'s client: configuration only (`maxAttempts`, `region`, `endpoint`, `credentials`). */
export class DynamoDBClient {
  readonly protocol: JsonProtocolClient;
  constructor(config: LeanClientConfig = {}) {
    this.protocol = new JsonProtocolClient({ signingName: 'dynamodb', targetPrefix: 'DynamoDB_20120810', jsonVersion: '1.0' }, config);
  }
  /** Keep-alive sockets belong to the module's agents and close when idle: nothing to release. */
  destroy(): void {}
}

type AnyCommand = DocumentCommand<object, object>;
type OutputOf<C> = C extends DocumentCommand<object, infer O> ? O : never;

export class DynamoDBDocumentClient {
  private readonly codec: Codec;

  private constructor(
    readonly client: DynamoDBClient,
    translateConfig: { marshallOptions?: marshallOptions; unmarshallOptions?: unmarshallOptions } = {},
  ) {
    const { marshallOptions: toOptions, unmarshallOptions: fromOptions } = translateConfig;
    this.codec = {
      toWire: (item) => (item === undefined ? undefined : marshall(item as Native, toOptions)),
      fromWire: (item) => (item === undefined ? undefined : unmarshall(item as never, fromOptions)),
    };
  }

  static from(client: DynamoDBClient, translateConfig?: { marshallOptions?: marshallOptions; unmarshallOptions?: unmarshallOptions }): DynamoDBDocumentClient {
    return new DynamoDBDocumentClient(client, translateConfig);
  }

  async send<C extends AnyCommand>(command: C): Promise<OutputOf<C>> {
    const body = JSON.stringify(command.toWire(this.codec), binaryReplacer);
    const output = await this.client.protocol.call(command.operation, body, binaryReviver);
    return command.fromWire(output, this.codec) as OutputOf<C>;
  }

  destroy(): void {}
}
