import { describe, expect, it } from 'vitest';
import { glanceErrorResponse } from '../../../functions/api/image/glance-error.js';
import { Forbidden, NotFound } from '../../../shared/errors.js';

/** The expected bodies are what Debian's webob (1.8, glance's) renders for HTTPNotFound(explanation=...). */
describe("glance's error bodies, chosen by Accept as webob chooses", () => {
  const notFound = new NotFound('No image found with ID x');

  it('answers */* (glanceclient, curl) with HTML, which glanceclient turns into "404 Not Found: <message>"', () => {
    expect(glanceErrorResponse(notFound, '*/*')).toEqual({
      contentType: 'text/html; charset=UTF-8',
      body: '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID x<br /><br />\n\n\n\n </body>\n</html>',
    });
    expect(glanceErrorResponse(notFound, 'application/json, */*').contentType).toBe('text/html; charset=UTF-8');
    expect(glanceErrorResponse(notFound, 'not a media range!').contentType).toBe('text/html; charset=UTF-8');
  });

  it('answers application/json (tempest, openstacksdk) with a flat JSON body whose code is the status line', () => {
    const res = glanceErrorResponse(notFound, 'application/json');
    expect(res.contentType).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ message: 'No image found with ID x<br /><br />\n\n\n', code: '404 Not Found', title: 'Not Found' });
    expect(glanceErrorResponse(notFound, 'text/html;q=0.5, application/json').contentType).toBe('application/json');
  });

  it('answers no Accept header, or one that accepts neither, with plain text', () => {
    for (const accept of [undefined, '', 'image/png', 'text/html;q=0']) {
      expect(glanceErrorResponse(notFound, accept)).toEqual({ contentType: 'text/plain; charset=UTF-8', body: '404 Not Found\n\nNo image found with ID x\n\n   ' });
    }
  });

  it('escapes the message in HTML and strips tags from plain text', () => {
    const err = new Forbidden('You are not <permitted> & "x"');
    expect(glanceErrorResponse(err, '*/*').body).toContain('  You are not &lt;permitted&gt; &amp; &quot;x&quot;<br /><br />');
    expect(glanceErrorResponse(err, undefined).body).toBe('403 Forbidden\n\nYou are not  & "x"\n\n   ');
  });
});
