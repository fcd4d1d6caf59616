import { Link } from 'react-router';
import { useDocumentTitle } from '@/lib/useDocumentTitle';

export function NotFoundPage({
  title = 'Page not found',
  message = 'The page you are looking for does not exist.',
}: {
  title?: string;
  message?: string;
}) {
  useDocumentTitle(title);
  return (
    <section className="state state--empty not-found" aria-labelledby="not-found-title">
      <h1 id="not-found-title" className="page-title" tabIndex={-1}>
        {title}
      </h1>
      <p>{message}</p>
      <Link to="/" className="button">
        Go to the catalog
      </Link>
    </section>
  );
}
