import { metaContract } from '../meta/meta-contract';
import { facebook } from './index';

metaContract(facebook, 'fb');
