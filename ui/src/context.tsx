import { createContext, useContext } from 'react';
import type { DblabClient } from './api';

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export interface AppContextValue {
  client: DblabClient;
  logout: (message?: string) => void;
  notify: (text: string, kind?: Notice['kind']) => void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('useApp outside of AppContext');
  return value;
}
