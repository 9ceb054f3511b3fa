import { Injectable, Logger } from '@nestjs/common';
import { LiveConfig, Slot } from '../config/live-config.js';
import type { ClientConfig } from './client.config.js';

/** The registered clients of one configuration, indexed once when it is loaded. */
export class ClientIndex {
  private readonly byId: ReadonlyMap<string, ClientConfig>;

  constructor(readonly clients: readonly ClientConfig[]) {
    this.byId = new Map(clients.map((c) => [c.client_id, c]));
  }

  find(clientId: string): ClientConfig | undefined {
    return this.byId.get(clientId);
  }

  /** Warns about what is only fine in development (production refuses it at load). */
  warn(logger = new Logger('Clients')): void {
    const plaintext = this.clients.filter((c) => c.client_secret !== undefined).map((c) => c.client_id);
    if (plaintext.length > 0) {
      logger.warn(
        `plaintext client_secret configured for ${plaintext.join(', ')}: fine for development, use client_secret_hash (npm run hash-secret) in production`,
      );
    }
  }
}

/** The clients in the configuration generation in force. */
export const CLIENTS = new Slot<ClientIndex>('clients');

/** The registered clients, by client_id, from the configuration in force (reloaded on SIGHUP). */
@Injectable()
export class ClientRegistry {
  constructor(private readonly live: LiveConfig) {}

  find(clientId: string): ClientConfig | undefined {
    return this.live.read(CLIENTS).find(clientId);
  }
}
