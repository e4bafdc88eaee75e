import { defineV3PagesSuite } from './support/v3-pages-suite.js';

defineV3PagesSuite('3.8.0');
