/** Secrets tampered with by a principal that may only write them (fault-matrix.ts), against PostgreSQL and moto. */
import { defineTamperMatrix } from './fault-matrix';
import { describeWithServices } from '../../support/services';

describeWithServices('PostgreSQL rotation handler', () => {
  defineTamperMatrix('postgres');
});
