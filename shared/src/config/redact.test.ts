import { describe, expect, it } from 'vitest';
import { errorText, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('hides the password and the query, keeps the server', () => {
    expect(redactUrl('redis://:s3cret@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redactUrl('postgres://u:p@db/x?password=p')).toBe('postgres://u:***@db/x?***');
    expect(redactUrl('postgres://db:5432/x')).toBe('postgres://db:5432/x');
    expect(redactUrl('not a url with p4ss')).not.toContain('p4ss');
  });
});

describe('errorText', () => {
  it('reads the parts of an AggregateError without a message', () => {
    expect(errorText(new AggregateError([new Error('a'), new Error('b')], ''))).toBe('a; b');
    expect(errorText('plain')).toBe('plain');
  });
});
