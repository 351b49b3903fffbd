/**
 * Who asked and which code: taken from the CI's environment (GitHub Actions, GitLab CI), else from
 * git and the local user, so `driftline run` in CI needs no flags for them.
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

export interface RunContext {
  codeCommit: string | null;
  codeRepository: string | null;
  requestedBy: string;
  trigger: 'ci' | 'manual';
}

export function detectRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  if (env.GITHUB_ACTIONS === 'true') {
    return {
      codeCommit: env.GITHUB_SHA ?? git(['rev-parse', 'HEAD']),
      codeRepository: env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}` : git(['remote', 'get-url', 'origin']),
      requestedBy: env.GITHUB_ACTOR ?? 'github-actions',
      trigger: 'ci',
    };
  }
  if (env.GITLAB_CI === 'true') {
    return {
      codeCommit: env.CI_COMMIT_SHA ?? git(['rev-parse', 'HEAD']),
      codeRepository: env.CI_PROJECT_URL ?? git(['remote', 'get-url', 'origin']),
      requestedBy: env.GITLAB_USER_LOGIN ?? 'gitlab-ci',
      trigger: 'ci',
    };
  }
  return {
    codeCommit: git(['rev-parse', 'HEAD']),
    codeRepository: git(['remote', 'get-url', 'origin']),
    requestedBy: env.DRIFTLINE_USER ?? safeUser(),
    trigger: env.CI === 'true' ? 'ci' : 'manual',
  };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
