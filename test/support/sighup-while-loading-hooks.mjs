// Module hooks (node:module register) for sighup-while-loading.mjs; they run on Node's loader thread.
let sent = false;

export async function load(url, context, nextLoad) {
  if (!sent && url.endsWith('/dist/cluster/primary.js')) {
    sent = true;
    process.kill(process.pid, 'SIGHUP');
  }
  return nextLoad(url, context);
}
