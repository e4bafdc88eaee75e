// @vitest-environment edge-runtime
import { defineV3Suite, loadV3Edge } from './support/v3-suite.js';

defineV3Suite('edge', '3.8.0', loadV3Edge('3.8.0'));
