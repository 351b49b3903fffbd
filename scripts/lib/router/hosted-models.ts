/**
 * Model servers the router hosts for registered versions, so that a pipeline can put a freshly
 * trained candidate behind the router without any other serving stack:
 *
 *   PUT /admin/servers/<model>/v<version>  {"artifact": "file:///…/model.json"}  → {"url", "sha256", …}
 *   GET /admin/servers/<model>/v<version>
 *
 * Idempotent: a second PUT for the same version and artifact returns the running server; the same
 * version with other bytes is refused (a version's artifact never changes). Hosted servers live as
 * long as the router process.
 */
import { startModelServer, type ModelServer } from './model-server.ts';
import { HttpError } from './http.ts';

export interface HostedModel {
  model: string;
  version: number;
  artifact: string;
  url: string;
  sha256: string;
}

export class HostedModels {
  private readonly servers = new Map<string, { info: HostedModel; server: ModelServer }>();
  private readonly starting = new Map<string, Promise<HostedModel>>();

  constructor(private readonly address: string) {}

  get(model: string, version: number): HostedModel | undefined {
    return this.servers.get(key(model, version))?.info;
  }

  async serve(model: string, version: number, artifact: string): Promise<HostedModel> {
    const id = key(model, version);
    const running = this.servers.get(id);
    if (running) return this.same(running.info, artifact);
    const pending = this.starting.get(id);
    if (pending) return this.same(await pending, artifact);
    const start = (async () => {
      const server = await startModelServer({ model: artifact, host: this.address }).catch((error: unknown) => {
        throw new HttpError(400, `cannot serve ${model} v${version} from ${artifact}: ${error instanceof Error ? error.message : String(error)}`);
      });
      const info = { model, version, artifact, url: server.url, sha256: server.sha256 };
      this.servers.set(id, { info, server });
      return info;
    })();
    this.starting.set(id, start);
    try {
      return await start;
    } finally {
      this.starting.delete(id);
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.servers.values()].map(({ server }) => server.close()));
    this.servers.clear();
  }

  private same(info: HostedModel, artifact: string): HostedModel {
    if (info.artifact !== artifact) {
      throw new HttpError(409, `${info.model} v${info.version} is already served from ${info.artifact}, not ${artifact}`);
    }
    return info;
  }
}

function key(model: string, version: number): string {
  return `${model}@${version}`;
}
