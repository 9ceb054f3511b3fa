import { Module } from '@nestjs/common';
import { PlaygroundExplain } from './playground-explain.js';
import { PlaygroundRoutes } from './playground-routes.js';

/** `/playground`, imported by AppModule only when PLAYGROUND is on (playground-settings.ts). */
@Module({
  providers: [PlaygroundRoutes, PlaygroundExplain],
  exports: [PlaygroundRoutes],
})
export class PlaygroundModule {}
