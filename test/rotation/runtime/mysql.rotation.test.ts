/** The rotation fault matrix (fault-matrix.ts) against MariaDB and moto. */
import { defineFaultMatrix } from './fault-matrix';
import { describeWithServices } from '../../support/services';

describeWithServices('MariaDB rotation handler', () => {
  defineFaultMatrix('mysql');
});
