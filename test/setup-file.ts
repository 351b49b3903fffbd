// Runs in every test process before its suites: keep the SDK's own logging to warnings.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
