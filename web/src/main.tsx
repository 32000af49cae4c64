import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './zodConfig.ts'; // before anything that builds a schema
import { App } from './App.tsx';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
