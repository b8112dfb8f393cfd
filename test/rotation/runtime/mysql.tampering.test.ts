/** Secrets tampered with by a principal that may only write them (fault-matrix.ts), against MariaDB and moto. */
import { defineTamperMatrix } from './fault-matrix';
import { describeWithServices } from '../../support/services';

describeWithServices('MySQL/MariaDB rotation handler', () => {
  defineTamperMatrix('mysql');
});
