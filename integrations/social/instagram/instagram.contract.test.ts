import { metaContract } from '../meta/meta-contract';
import { instagram } from './index';

metaContract(instagram, 'ig');
