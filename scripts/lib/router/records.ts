/**
 * Per-request records of the router, written to `deployment_requests` in batches: one INSERT per
 * flush (every `intervalMs`, or sooner when `batchSize` records wait). A failed flush keeps its
 * records for the next one; beyond `maxBuffered` the oldest are dropped and counted.
 */
import type { Insertable } from 'kysely';
import type { DriftlineDb } from '../../../activities/db/database.ts';
import type { DeploymentRequestsTable } from '../../../activities/db/schema.ts';

export type RequestRecord = Insertable<DeploymentRequestsTable>;

export class RecordWriter {
  private buffer: RequestRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  dropped = 0;
  written = 0;
  lastError: string | null = null;

  constructor(
    private readonly db: DriftlineDb | null,
    private readonly options: { intervalMs: number; batchSize: number; maxBuffered: number } = { intervalMs: 200, batchSize: 500, maxBuffered: 200_000 },
  ) {}

  add(record: RequestRecord): void {
    if (!this.db) return;
    this.buffer.push(record);
    if (this.buffer.length > this.options.maxBuffered) {
      const excess = this.buffer.length - this.options.maxBuffered;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
    if (this.buffer.length >= this.options.batchSize) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.options.intervalMs);
  }

  /** Writes everything buffered so far; resolves when it is in the database (or the write failed). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.flushing) await this.flushing;
    if (!this.db || this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = (async () => {
      try {
        for (let i = 0; i < batch.length; i += 1000) await this.db!.insertInto('deployment_requests').values(batch.slice(i, i + 1000)).execute();
        this.written += batch.length;
        this.lastError = null;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.buffer = [...batch, ...this.buffer];
        if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.options.intervalMs * 5);
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
