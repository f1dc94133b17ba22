// Starts Swagger UI on /api/v1/docs (sekispe/templates/api/docs.html). Kept out
// of the page so the site's CSP (script-src 'self', no inline script) holds:
// the settings, schema URL included, come in the element's data-settings.
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  if (!element || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var config = JSON.parse(element.dataset.settings);
  config.domNode = element;
  config.presets = [window.SwaggerUIBundle.presets.apis];
  var csrfToken = element.dataset.csrfToken;
  if (csrfToken) {
    config.requestInterceptor = function (request) {
      request.headers["X-CSRFToken"] = csrfToken;
      return request;
    };
  }
  window.SwaggerUIBundle(config);
})();
