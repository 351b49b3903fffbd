/**
 * An OpenTelemetry context manager on Node's AsyncLocalStorage. The SDK's interceptors inject the
 * *active* context into Temporal headers; without a context manager nothing is ever active and
 * no trace crosses from a client to a workflow or from a workflow to an activity. (The usual
 * package for this, @opentelemetry/context-async-hooks, is not a dependency; this is the part of
 * it Driftline needs: functions, not event emitters.)
 */
import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';

export class AsyncLocalStorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const run = (...args: unknown[]) => this.with(context, () => (target as (...a: unknown[]) => unknown)(...args));
    return run as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}
