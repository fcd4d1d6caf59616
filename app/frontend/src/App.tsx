import { useEffect, useRef } from 'react';
import { Link, Outlet, Route, Routes, useLocation } from 'react-router';
import { CatalogPage } from '@/features/catalog/CatalogPage';
import { VideoPage } from '@/features/video/VideoPage';
import { NotFoundPage } from '@/components/NotFoundPage';
import { APP_NAME } from '@/lib/useDocumentTitle';

function Layout() {
  const { pathname } = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // On client-side navigation, move focus to the new page's heading (or main) so
  // screen-reader users hear where they are; not on the first load.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const heading = mainRef.current?.querySelector<HTMLElement>('h1');
    (heading ?? mainRef.current)?.focus();
    window.scrollTo(0, 0);
  }, [pathname]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand" aria-label={`${APP_NAME} home`}>
          <span className="brand__mark" aria-hidden="true">
            ▶
          </span>
          <span className="brand__name">{APP_NAME}</span>
        </Link>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="site-main">
        <Outlet />
      </main>
      <footer className="site-footer">
        <p>© {APP_NAME}</p>
      </footer>
    </>
  );
}

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<CatalogPage />} />
        <Route path="videos/:id" element={<VideoPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
