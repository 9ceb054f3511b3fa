import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ClientConfig } from './client.config.js';
import { CLIENT_CONFIGS } from './clients-loader.js';

/** The registered clients, by client_id. */
@Injectable()
export class ClientRegistry {
  private readonly byId: ReadonlyMap<string, ClientConfig>;

  constructor(@Inject(CLIENT_CONFIGS) clients: readonly ClientConfig[]) {
    this.byId = new Map(clients.map((c) => [c.client_id, c]));
    const plaintext = clients.filter((c) => c.client_secret !== undefined).map((c) => c.client_id);
    if (plaintext.length > 0) {
      new Logger('Clients').warn(
        `plaintext client_secret configured for ${plaintext.join(', ')}: fine for development, use client_secret_hash (npm run hash-secret) in production`,
      );
    }
  }

  find(clientId: string): ClientConfig | undefined {
    return this.byId.get(clientId);
  }
}
