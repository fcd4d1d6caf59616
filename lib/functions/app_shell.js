// CloudFront Function (cloudfront-js-2.0), viewer request of the default behavior.
//
// Every client-side route of the web app (`/`, `/videos/12`, and any other extension-less
// path, which the router answers with its not-found page) asks CloudFront for one object,
// `/index.html`, instead of one cache entry per path. nginx already answers all of them
// with index.html (try_files $uri /index.html), same status, body and headers, so the
// viewer sees no difference; only the cache key changes.
//
// Left untouched: files (a dot in the last path segment: /index.html, /favicon.svg,
// /robots.txt), and what the origin answers itself rather than with the app shell:
// nginx's /health and /api locations, and the paths of the other behaviors (/api/*,
// /assets/*, /media/*, /errors/*), should the function ever be associated with them.
// The query string is not read or changed.
//
// ES 5.1 plus const only (see the runtime's feature list): no for-of, no modules.

const APP_SHELL = '/index.html';
const ORIGIN_PATHS = ['/health', '/api'];
const ORIGIN_PREFIXES = ['/api/', '/assets/', '/media/', '/errors/'];

function isClientRoute(uri) {
  if (uri.charAt(0) !== '/' || ORIGIN_PATHS.indexOf(uri) !== -1) {
    return false;
  }
  for (var i = 0; i < ORIGIN_PREFIXES.length; i++) {
    if (uri.indexOf(ORIGIN_PREFIXES[i]) === 0) {
      return false;
    }
  }
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  return last.indexOf('.') === -1;
}

function handler(event) {
  var request = event.request;
  if (isClientRoute(request.uri)) {
    request.uri = APP_SHELL;
  }
  return request;
}
