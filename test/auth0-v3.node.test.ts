import { defineV3Suite, loadV3Node } from './support/v3-suite.js';

defineV3Suite('nodejs', '3.7.0', loadV3Node('3.7.0'));
