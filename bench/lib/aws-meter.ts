import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { ObservedClient } from '../../shared/store/clients.js';

/**
 * Counts the AWS calls made through the SDK clients it is attached to (the real ones the
 * functions build, see `observeNewClients`): calls per operation, DynamoDB capacity units, KMS
 * and S3 calls per command. It asks DynamoDB for `ReturnConsumedCapacity: 'TOTAL'` on every
 * call and sums what comes back.
 *
 * What the local emulator (MiniStack 1.5.33) answers, checked in its source and by this meter:
 * writes (Put/Update/Delete, TransactWriteItems, BatchWriteItem) carry ConsumedCapacity sized
 * by DynamoDB's rules (1 KB units of the larger of old and new item, ×2 in a transaction, plus
 * index writes); reads do not follow the rules (GetItem and Query answer a flat 1 or 0.5
 * whatever the size, BatchGetItem answers nothing). So write units are the emulator's figure,
 * and read units are computed here from the items actually returned, per DynamoDB's documented
 * rules: 4 KB units per item (Query: of the summed size), strongly consistent 1, eventually
 * consistent 0.5, transactional 2; a missing item still costs one unit. Where a read projects
 * or filters, the returned items are smaller than what DynamoDB bills: such reads are flagged
 * as lower bounds. A write refused by its condition consumes capacity on AWS but the emulator
 * reports none: those are estimated at the minimum (1 unit, 2 per transaction item).
 */
export interface OperationCount {
  calls: number;
  failed: number;
  readUnits: number;
  writeUnits: number;
}

export interface MeterSnapshot {
  dynamodb: {
    calls: number;
    readUnits: number;
    writeUnits: number;
    byOperation: Record<string, OperationCount>;
    /** Read units as the emulator reported them (for comparison; see the class comment). */
    emulatorReportedReadUnits: number;
    /** Write units of calls for which the emulator reported nothing (estimated at the minimum). */
    estimatedWriteUnits: number;
    /** Reads with a projection or filter: their computed units are a lower bound. */
    lowerBoundReads: number;
    /**
     * Item writes and reads per partition key value (table or index), for the hot-partition
     * limits: `writeUnits` counts each item write at its minimum (1, 2 in a transaction, index
     * entries 1), `readUnits` each item read at its minimum (1 strongly consistent, 0.5 eventually).
     */
    partitions: Record<string, { writes: number; writeUnits: number; reads: number; readUnits: number }>;
    /** The same per item (partition and sort key): one item cannot exceed a partition's limits. */
    items: Record<string, { writes: number; writeUnits: number; reads: number; readUnits: number }>;
    /** Write units per table as the emulator reported them. */
    writeUnitsByTable: Record<string, number>;
    /** Set when a stored run keeps only the busiest partitions and items (cost-model.ts `forStorage`). */
    distinctPartitions?: number;
    distinctItems?: number;
  };
  kms: { calls: number; byCommand: Record<string, { calls: number; failed: number }> };
  s3: { calls: number; byCommand: Record<string, { calls: number; failed: number }>; presignedUrls: number };
}

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const READ_UNIT_BYTES = 4096;

/** DynamoDB's item size: attribute names plus values (documented approximation for numbers). */
export function itemSizeBytes(item: Item | undefined, native = false): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + (native ? nativeSizeBytes(value) : valueSizeBytes(value));
  return size;
}

function valueSizeBytes(value: AttributeValue): number {
  const [type, inner] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(inner as string, 'utf8');
    case 'N':
      return numberSize(inner as string);
    case 'B':
      return (inner as Uint8Array).byteLength;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (inner as string[]).reduce((sum, s) => sum + Buffer.byteLength(s, 'utf8'), 0);
    case 'NS':
      return (inner as string[]).reduce((sum, n) => sum + numberSize(n), 0);
    case 'BS':
      return (inner as Uint8Array[]).reduce((sum, b) => sum + b.byteLength, 0);
    case 'L':
      return 3 + (inner as AttributeValue[]).reduce((sum, v) => sum + 1 + valueSizeBytes(v), 0);
    case 'M':
      return 3 + Object.entries(inner as Item).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + valueSizeBytes(v), 0);
    default:
      return 0;
  }
}

/** The same for the document client's native values (its marshalling runs inside this meter). */
function nativeSizeBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(String(value));
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + nativeSizeBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + nativeSizeBytes(v), 0);
  if (typeof value === 'object') return 3 + Object.entries(value).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + nativeSizeBytes(v), 0);
  return 0;
}

function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

const readUnits = (bytes: number, factor: number) => Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * factor;

/** `GetCommand` (lib-dynamodb) and `GetItemCommand` are one operation: name it as the API does. */
const documentNames: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

function operationName(commandName: string | undefined): string {
  const bare = (commandName ?? 'Unknown').replace(/Command$/, '');
  return documentNames[bare] ?? bare;
}

const ATTRIBUTE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M']);

/**
 * lib-dynamodb marshals right before the serializer and unmarshals right after the
 * deserializer, inside this meter: its calls show native values here, others AttributeValues.
 */
function isMarshalled(item: unknown): boolean {
  if (!item || typeof item !== 'object') return false;
  const values = Object.values(item);
  return values.length > 0 && values.every((v) => v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && ATTRIBUTE_TYPES.has(Object.keys(v)[0]!));
}

function sumCapacity(consumed: unknown): number | undefined {
  if (consumed === undefined || consumed === null) return undefined;
  const entries = Array.isArray(consumed) ? consumed : [consumed];
  return entries.reduce((sum: number, entry) => sum + Number((entry as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);
}

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

export class AwsMeter {
  private snapshotValue: MeterSnapshot = AwsMeter.empty();

  static empty(): MeterSnapshot {
    return {
      dynamodb: { calls: 0, readUnits: 0, writeUnits: 0, byOperation: {}, emulatorReportedReadUnits: 0, estimatedWriteUnits: 0, lowerBoundReads: 0, partitions: {}, items: {}, writeUnitsByTable: {} },
      kms: { calls: 0, byCommand: {} },
      s3: { calls: 0, byCommand: {}, presignedUrls: 0 },
    };
  }

  snapshot(): MeterSnapshot {
    return structuredClone(this.snapshotValue);
  }

  reset(): void {
    this.snapshotValue = AwsMeter.empty();
  }

  attach(client: ObservedClient): void {
    if (client instanceof DynamoDBClient) this.attachDynamoDb(client);
    else if (client instanceof KMSClient) this.attachCounter(client, () => this.snapshotValue.kms);
    else if (client instanceof S3Client) this.attachS3(client);
  }

  private attachDynamoDb(client: DynamoDBClient): void {
    // At the serialize step the input and output are DynamoDB's own (marshalled) shapes, for the
    // document client too, and SDK retries happen further in: this sees each logical call once.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = operationName(context.commandName);
        const input = { ...(args.input as Record<string, unknown>) };
        if (input.ReturnConsumedCapacity === undefined || input.ReturnConsumedCapacity === 'NONE') input.ReturnConsumedCapacity = 'TOTAL';
        const counts = this.dynamoOperation(operation);
        const totals = this.snapshotValue.dynamodb;
        counts.calls += 1;
        totals.calls += 1;
        this.notePartitions(operation, input);
        try {
          const result = await next({ ...args, input });
          this.recordDynamoDb(operation, input, result.output as unknown as Record<string, unknown>);
          return result;
        } catch (error) {
          counts.failed += 1;
          if (WRITE_OPERATIONS.has(operation)) {
            const items = operation === 'TransactWriteItems' ? ((input.TransactItems as unknown[]) ?? []).length * 2 : 1;
            counts.writeUnits += items;
            totals.writeUnits += items;
            totals.estimatedWriteUnits += items;
          }
          throw error;
        }
      },
      { step: 'serialize', priority: 'high', name: 'flashlineBenchDynamoDbMeter' },
    );
  }

  /** Which partitions a call touches (its keys, and the index keys of the items it puts). */
  private notePartitions(operation: string, input: Record<string, unknown>): void {
    const { partitions, items } = this.snapshotValue.dynamodb;
    const text = (value: unknown) => (typeof value === 'string' ? value : (value as { S?: string } | undefined)?.S);
    const pkOf = (item: unknown) => text((item as Item | undefined)?.pk);
    const skOf = (item: unknown) => text((item as Item | undefined)?.sk);
    const add = (map: MeterSnapshot['dynamodb']['partitions'], key: string, kind: 'write' | 'read', units: number) => {
      map[key] ??= { writes: 0, writeUnits: 0, reads: 0, readUnits: 0 };
      const entry = map[key]!;
      if (kind === 'write') {
        entry.writes += 1;
        entry.writeUnits += units;
      } else {
        entry.reads += 1;
        entry.readUnits += units;
      }
    };
    const note = (pk: string | undefined, kind: 'write' | 'read', units: number, key?: unknown) => {
      if (!pk) return;
      add(partitions, pk, kind, units);
      const sk = key === undefined ? undefined : skOf(key);
      if (sk !== undefined) add(items, `${pk} ${sk}`, kind, units);
    };
    const put = (item: Item | undefined, factor: number) => {
      note(pkOf(item), 'write', factor, item);
      const indexPk = text(item?.gsi1pk);
      if (indexPk) note(`gsi1:${indexPk}`, 'write', 1);
    };
    const factorOf = (consistent: unknown) => (consistent === true ? 1 : 0.5);
    switch (operation) {
      case 'PutItem':
        put(input.Item as Item, 1);
        break;
      case 'UpdateItem':
      case 'DeleteItem':
        note(pkOf(input.Key), 'write', 1, input.Key);
        break;
      case 'TransactWriteItems':
        for (const member of (input.TransactItems ?? []) as Record<string, { Item?: Item; Key?: Item }>[]) {
          if (member.Put) put(member.Put.Item, 2);
          for (const kind of ['Update', 'Delete', 'ConditionCheck'] as const) if (member[kind]) note(pkOf(member[kind]!.Key), 'write', 2, member[kind]!.Key);
        }
        break;
      case 'BatchWriteItem':
        for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>)) {
          for (const request of requests) {
            if (request.PutRequest) put(request.PutRequest.Item, 1);
            if (request.DeleteRequest) note(pkOf(request.DeleteRequest.Key), 'write', 1, request.DeleteRequest.Key);
          }
        }
        break;
      case 'GetItem':
        note(pkOf(input.Key), 'read', factorOf(input.ConsistentRead), input.Key);
        break;
      case 'BatchGetItem':
        for (const request of Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: Item[]; ConsistentRead?: boolean }>)) {
          for (const key of request.Keys ?? []) note(pkOf(key), 'read', factorOf(request.ConsistentRead), key);
        }
        break;
      case 'Query': {
        // The partition is the value the key condition's first equality binds.
        const placeholder = /=\s*(:[A-Za-z0-9_]+)/.exec(String(input.KeyConditionExpression ?? ''))?.[1];
        const value = placeholder ? ((input.ExpressionAttributeValues ?? {}) as Item)[placeholder] : undefined;
        const pk = text(value);
        if (pk) note(input.IndexName ? `${String(input.IndexName)}:${pk}` : pk, 'read', factorOf(input.ConsistentRead));
        break;
      }
      default:
        break;
    }
  }

  private dynamoOperation(operation: string): OperationCount {
    const byOperation = this.snapshotValue.dynamodb.byOperation;
    byOperation[operation] ??= { calls: 0, failed: 0, readUnits: 0, writeUnits: 0 };
    return byOperation[operation]!;
  }

  private recordDynamoDb(operation: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
    const counts = this.dynamoOperation(operation);
    const totals = this.snapshotValue.dynamodb;
    const reported = sumCapacity(output.ConsumedCapacity);
    if (WRITE_OPERATIONS.has(operation)) {
      const consumed = output.ConsumedCapacity;
      for (const entry of (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as { TableName?: string; CapacityUnits?: number }[]) {
        if (entry.TableName) totals.writeUnitsByTable[entry.TableName] = (totals.writeUnitsByTable[entry.TableName] ?? 0) + Number(entry.CapacityUnits ?? 0);
      }
      let units = reported;
      if (units === undefined) {
        units = operation === 'TransactWriteItems' ? ((input.TransactItems as unknown[]) ?? []).length * 2 : 1;
        totals.estimatedWriteUnits += units;
      }
      counts.writeUnits += units;
      totals.writeUnits += units;
      return;
    }
    totals.emulatorReportedReadUnits += reported ?? 0;
    const read = this.computeReadUnits(operation, input, output);
    counts.readUnits += read.units;
    totals.readUnits += read.units;
    if (read.lowerBound) totals.lowerBoundReads += 1;
  }

  private computeReadUnits(operation: string, input: Record<string, unknown>, output: Record<string, unknown>): { units: number; lowerBound: boolean } {
    const sizeOf = (item: Item | undefined) => itemSizeBytes(item, !isMarshalled(item));
    const factorOf = (consistent: unknown) => (consistent === true ? 1 : 0.5);
    switch (operation) {
      case 'GetItem':
        return { units: readUnits(sizeOf(output.Item as Item | undefined), factorOf(input.ConsistentRead)), lowerBound: Boolean(input.ProjectionExpression) };
      case 'BatchGetItem': {
        let units = 0;
        let lowerBound = false;
        const requests = (input.RequestItems ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean; ProjectionExpression?: string }>;
        const responses = (output.Responses ?? {}) as Record<string, Item[]>;
        const unprocessed = (output.UnprocessedKeys ?? {}) as Record<string, { Keys?: unknown[] }>;
        for (const [table, request] of Object.entries(requests)) {
          const found = responses[table] ?? [];
          const asked = (request.Keys ?? []).length - (unprocessed[table]?.Keys ?? []).length;
          const factor = factorOf(request.ConsistentRead);
          units += found.reduce((sum, item) => sum + readUnits(sizeOf(item), factor), 0);
          // A key that is not there is still read: one unit each.
          units += Math.max(0, asked - found.length) * factor;
          lowerBound ||= Boolean(request.ProjectionExpression);
        }
        return { units, lowerBound };
      }
      case 'Query':
      case 'Scan': {
        const bytes = ((output.Items ?? []) as Item[]).reduce((sum, item) => sum + sizeOf(item), 0);
        const lowerBound = Boolean(input.ProjectionExpression || input.FilterExpression || input.Select === 'COUNT');
        return { units: readUnits(bytes, factorOf(input.ConsistentRead)), lowerBound };
      }
      case 'TransactGetItems': {
        const responses = (output.Responses ?? []) as { Item?: Item }[];
        return { units: responses.reduce((sum, r) => sum + readUnits(sizeOf(r.Item), 2), 0), lowerBound: false };
      }
      default:
        return { units: 0, lowerBound: false };
    }
  }

  /** Counts calls per command into `target()`; `step` decides which calls count (see attachS3). */
  private attachCounter(
    client: KMSClient | S3Client,
    target: () => { calls: number; byCommand: Record<string, { calls: number; failed: number }> },
    step: 'initialize' | 'deserialize' = 'initialize',
    onCall?: (context: object) => void,
  ): void {
    const middleware: Parameters<KMSClient['middlewareStack']['add']>[0] = (next, context) => async (args) => {
      onCall?.(context);
      const bucket = target();
      const name = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      bucket.byCommand[name] ??= { calls: 0, failed: 0 };
      bucket.byCommand[name]!.calls += 1;
      bucket.calls += 1;
      try {
        return await next(args);
      } catch (error) {
        bucket.byCommand[name]!.failed += 1;
        throw error;
      }
    };
    // The stack's overloads type a middleware by its step; this one is the same at either step.
    (client.middlewareStack as KMSClient['middlewareStack']).add(middleware as never, { step: step as 'deserialize', priority: 'high', name: `flashlineBenchCallMeter-${step}` });
  }

  private attachS3(client: S3Client): void {
    // A presigned URL runs the middleware stack but stops before sending: only calls that reach
    // the deserialize step are sent; the others are presigned URLs, each standing for one GET
    // the programmer makes on S3 afterwards.
    const sent = new WeakSet<object>();
    this.attachCounter(client, () => this.snapshotValue.s3, 'deserialize', (context) => sent.add(context));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (!sent.has(context)) this.snapshotValue.s3.presignedUrls += 1;
        return result;
      },
      { step: 'initialize', priority: 'high', name: 'flashlineBenchS3PresignMeter' },
    );
  }
}
