import { render, screen, waitFor } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { StrictMode } from 'react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { App } from '@/App';
import { renderApp } from '@/test/render';
import { requests, server } from '@/test/server';

const viewPosts = () => requests.filter((r) => r.method === 'POST');

describe('VideoPage', () => {
  it('shows the video and records exactly one view, then shows the new count', async () => {
    renderApp('/videos/45');
    expect(screen.getByText('Loading video…')).toBeInTheDocument();

    expect(await screen.findByRole('heading', { level: 1, name: 'Ocean Depths' })).toBeInTheDocument();
    expect(screen.getByText('Documentary', { selector: '.eyebrow' })).toBeInTheDocument();
    expect(screen.getByText('45:05')).toBeInTheDocument();
    expect(screen.getByText('Description of video 45.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('view-count')).toHaveTextContent('146 views'));

    expect(viewPosts()).toHaveLength(1);
    expect(viewPosts()[0]).toMatchObject({ contentType: 'application/json', body: '{}' });
    expect(viewPosts()[0].url.pathname).toBe('/api/videos/45/views');
    expect(document.title).toBe('Ocean Depths · TAP Stream');
  });

  it('opens from the catalog and goes back to the same search', async () => {
    const { user } = renderApp('/?q=ocean');
    await user.click(await screen.findByRole('link', { name: /Ocean Voices/ }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Ocean Voices' })).toHaveFocus();

    await user.click(screen.getByRole('link', { name: /Back to catalog/ }));
    expect(await screen.findByRole('searchbox', { name: 'Search titles' })).toHaveValue('ocean');
    await waitFor(() => expect(screen.getAllByRole('listitem')).toHaveLength(2));
  });

  it('shows "not found" for an unknown id and for a malformed id, without recording a view', async () => {
    renderApp('/videos/9999');
    expect(await screen.findByRole('heading', { name: 'Video not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go to the catalog' })).toHaveAttribute('href', '/');
  });

  it('rejects a malformed id without calling the API', async () => {
    renderApp('/videos/abc');
    expect(screen.getByRole('heading', { name: 'Video not found' })).toBeInTheDocument();
    expect(requests).toHaveLength(0);
  });

  it('shows an error with retry when the video cannot be loaded', async () => {
    server.use(http.get('/api/videos/:id', () => HttpResponse.error(), { once: true }));
    const { user } = renderApp('/videos/45');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent("We couldn't load this video");
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Ocean Depths' })).toBeInTheDocument();
  });

  it('still shows the stored count when the view cannot be recorded', async () => {
    server.use(http.post('/api/videos/:id/views', () => new HttpResponse(null, { status: 500 })));
    renderApp('/videos/45');
    expect(await screen.findByText('Your view could not be counted right now.')).toBeInTheDocument();
    expect(screen.getByTestId('view-count')).toHaveTextContent('145 views');
  });
});

describe('routing', () => {
  it('shows a not-found page for unknown client routes', () => {
    renderApp('/nope');
    expect(screen.getByRole('heading', { name: 'Page not found' })).toBeInTheDocument();
  });

  it('offers a skip link to the main content', () => {
    renderApp('/nope');
    expect(screen.getByRole('link', { name: 'Skip to content' })).toHaveAttribute('href', '#main');
    expect(screen.getByRole('main')).toHaveAttribute('id', 'main');
  });
});

describe('view recording under StrictMode', () => {
  it('counts one view even though development mode runs effects twice', async () => {
    render(
      <StrictMode>
        <MemoryRouter initialEntries={['/videos/45']}>
          <App />
        </MemoryRouter>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId('view-count')).toHaveTextContent('146 views'));
    expect(viewPosts()).toHaveLength(1);
  });
});
