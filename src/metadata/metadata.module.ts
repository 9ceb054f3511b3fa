import { Module } from '@nestjs/common';
import { TokenEndpointModule } from '../token-endpoint/token-endpoint.module.js';
import { MetadataController } from './metadata.controller.js';

@Module({ imports: [TokenEndpointModule], controllers: [MetadataController] })
export class MetadataModule {}
