// Stand-in for @monaco-editor/react under Jest: a textarea that offers the handful of editor
// methods Grafana's CodeEditor and the SQL editor call, so tests can type SQL and leave the field
// the way a user does. See ./monaco.ts for why monaco itself cannot run here.
import React, { useEffect, useRef } from 'react';

import * as monaco from './monaco';

interface EditorProps {
  value?: string;
  beforeMount?: (m: typeof monaco) => void;
  onMount?: (editor: unknown, m: typeof monaco) => void;
  wrapperProps?: Record<string, unknown>;
}

const disposable = { dispose: () => {} };

export default function Editor({ value, beforeMount, onMount, wrapperProps }: EditorProps) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const contentListeners = useRef<Array<() => void>>([]);

  useEffect(() => {
    beforeMount?.(monaco);
    const onContent = (listener: () => void) => {
      contentListeners.current.push(listener);
      return disposable;
    };
    const fakeEditor = {
      getValue: () => textarea.current?.value ?? '',
      getModel: () => ({ id: 'model', onDidChangeContent: onContent }),
      onDidChangeModelContent: onContent,
      onKeyDown: () => disposable,
      onKeyUp: () => disposable,
      addCommand: () => null,
      trigger: () => {},
      getAction: () => ({ run: async () => {} }),
    };
    onMount?.(fakeEditor, monaco);
    // Mounting happens once, like the real editor's.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div {...wrapperProps}>
      <textarea
        aria-label="Code editor"
        ref={textarea}
        defaultValue={value}
        onChange={() => contentListeners.current.forEach((listener) => listener())}
      />
    </div>
  );
}

export const loader = { config: () => {}, init: () => Promise.resolve(monaco) };
