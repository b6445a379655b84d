import { Field, Input } from '@grafana/ui';
import React from 'react';

import { DURATION_HINT, isGoDuration } from '../../duration';

interface Props {
  id: string;
  label: string;
  description?: string;
  value?: string;
  placeholder: string;
  onChange: (value: string | undefined) => void;
}

/** A Go duration string field that flags values the backend would refuse. */
export function DurationInput({ id, label, description, value, placeholder, onChange }: Props) {
  const valid = isGoDuration(value);
  return (
    <Field label={label} description={description} invalid={!valid} error={valid ? undefined : DURATION_HINT}>
      <Input
        id={id}
        width={16}
        value={value ?? ''}
        placeholder={placeholder}
        onChange={(e) => onChange(e.currentTarget.value.trim() || undefined)}
      />
    </Field>
  );
}
