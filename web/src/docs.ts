// Swagger UI over motorpool's own OpenAPI document (/api/docs and /docs): "Authorize" takes a
// bearer token (the document's `bearer` security scheme) and "Try it out" calls this server.
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import 'swagger-ui-dist/swagger-ui.css';

SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
});
