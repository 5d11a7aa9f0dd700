import { metaContract } from '../meta/testing/meta-contract';
import { instagram } from './index';

metaContract(instagram, 'ig');
