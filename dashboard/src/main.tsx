// The dashboard's entry: renders the root into index.html's #root. Everything it shows comes from /v1.
import { render } from 'preact';
import { Root } from './root.js';
import './style.css';

const root = document.getElementById('root');
if (root) render(<Root />, root);
