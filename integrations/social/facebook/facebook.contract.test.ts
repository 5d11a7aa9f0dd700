import { metaContract } from '../meta/testing/meta-contract';
import { facebook } from './index';

metaContract(facebook, 'fb');
