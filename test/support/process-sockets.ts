import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Which process serves a connection, read from Linux's /proc (no help from the server: nothing in a
 * response names the process that answered it).
 */

/** The pids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return children.sort((a, b) => a - b);
}

/** The socket inode of the server side of a loopback TCP connection (server port, client port). */
function serverSideInode(serverPort: number, clientPort: number): string | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]!.endsWith(`:${hex(serverPort)}`) && fields[2]!.endsWith(`:${hex(clientPort)}`)) return fields[9];
    }
  }
  return undefined;
}

/** Which of `pids` holds the server side of the connection from `clientPort` to `serverPort`. */
export function connectionOwner(pids: readonly number[], serverPort: number, clientPort: number): number | undefined {
  const inode = serverSideInode(serverPort, clientPort);
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed while listed
      }
    }
  }
  return undefined;
}
