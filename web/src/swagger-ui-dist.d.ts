// swagger-ui-dist ships no types: the one function this app calls.
declare module 'swagger-ui-dist/swagger-ui-es-bundle.js' {
  export default function SwaggerUIBundle(options: Record<string, unknown>): unknown;
}
