/** The rotation fault matrix (fault-matrix.ts) against PostgreSQL 15 and moto. */
import { defineFaultMatrix } from './fault-matrix';
import { describeWithServices } from '../../support/services';

describeWithServices('PostgreSQL rotation handler', () => {
  defineFaultMatrix('postgres');
});
