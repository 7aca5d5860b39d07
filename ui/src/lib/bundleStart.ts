import { markStartup } from './startupMarks';
markStartup('bundle');
