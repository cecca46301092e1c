/**
 * The AWS SDK for JavaScript v3 warns once per process, on stderr, that Node below 22 will not be
 * supported by SDK versions published after January 2027. We pin the SDK and README recommends
 * Node 22, so the warning tells an operator nothing on every run; this is the SDK's documented
 * switch (read when a client is constructed). An explicit setting by the user wins.
 */
export function quietSdkNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
