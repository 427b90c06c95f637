export { formatPlanText } from './text.ts';
export type { PlanFormatOptions } from './text.ts';
export { formatPlanJson } from './json.ts';
export { formatPlanDot } from './dot.ts';
