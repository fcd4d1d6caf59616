import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { renderApp } from '@/test/render';
import { requests, server } from '@/test/server';

const videoRequests = () => requests.filter((r) => r.url.pathname === '/api/videos');
const cards = () => within(screen.getByRole('list', { name: 'Browse the catalog' })).getAllByRole('listitem');

describe('CatalogPage', () => {
  it('shows a loading state, then the first page with title, duration and category', async () => {
    renderApp('/');
    expect(screen.getByText('Loading videos…', { selector: '.state span' })).toBeInTheDocument();

    expect(await screen.findByRole('link', { name: /Ocean Depths/ })).toHaveAttribute('href', '/videos/45');
    expect(cards()).toHaveLength(20);
    const first = within(cards()[0]);
    expect(first.getByRole('heading', { name: 'Ocean Depths' })).toBeInTheDocument();
    expect(first.getByText('45:05')).toBeInTheDocument();
    expect(first.getByText('Documentary')).toBeInTheDocument();
    expect(first.getByTestId('poster')).toHaveAttribute('aria-hidden', 'true');
    expect(screen.getByRole('status')).toHaveTextContent('Showing 20 videos, more available.');
  });

  it('loads more with the cursor from the previous page and moves focus to the first new video', async () => {
    const { user } = renderApp('/');
    await screen.findByRole('link', { name: /Ocean Depths/ });

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(cards()).toHaveLength(40));
    expect(videoRequests()[1].url.searchParams.get('cursor')).toBeTruthy();
    expect(document.activeElement).toHaveAttribute('href', '/videos/25');

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(cards()).toHaveLength(45));
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
    expect(screen.getByText('You have reached the end of the list.')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Showing 45 videos.');
  });

  it('debounces the search: one request for the settled text, not one per keystroke', async () => {
    const { user } = renderApp('/');
    await screen.findByRole('link', { name: /Ocean Depths/ });

    await user.type(screen.getByRole('searchbox', { name: 'Search titles' }), 'ocean');
    await waitFor(() => expect(cards()).toHaveLength(2));
    const searches = videoRequests().filter((r) => r.url.searchParams.has('q'));
    expect(searches.map((r) => r.url.searchParams.get('q'))).toEqual(['ocean']);
    expect(screen.getByRole('status')).toHaveTextContent('Showing 2 videos.');
  });

  it('filters by category from the labelled select', async () => {
    const { user } = renderApp('/');
    const select = screen.getByRole('combobox', { name: 'Category' });
    await screen.findByRole('option', { name: 'Music (15)' });

    await user.selectOptions(select, 'music');
    await waitFor(() => expect(videoRequests().at(-1)?.url.searchParams.get('category')).toBe('music'));
    await waitFor(() => expect(within(cards()[0]).getByText('Music')).toBeInTheDocument());
    expect(screen.getByRole('link', { name: /Ocean Voices/ })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: /Ocean Depths/ })).not.toBeInTheDocument();
  });

  it('reads search and category from the URL', async () => {
    renderApp('/?q=ocean&category=documentary');
    expect(await screen.findByRole('link', { name: /Ocean Depths/ })).toBeInTheDocument();
    expect(screen.getByRole('searchbox', { name: 'Search titles' })).toHaveValue('ocean');
    expect(cards()).toHaveLength(1);
  });

  it('shows an empty state with a way back when nothing matches', async () => {
    const { user } = renderApp('/?q=zzz');
    expect(await screen.findByRole('heading', { name: 'No videos match your search' })).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('No videos found.');

    await user.click(screen.getByRole('button', { name: 'Clear search and filter' }));
    expect(await screen.findByRole('link', { name: /Ocean Depths/ })).toBeInTheDocument();
    expect(screen.getByRole('searchbox', { name: 'Search titles' })).toHaveValue('');
  });

  it('shows an error with a retry that recovers', async () => {
    server.use(
      http.get(
        '/api/videos',
        () => HttpResponse.json({ error: { code: 'unavailable', message: 'Catalog is resting.' } }, { status: 503 }),
        { once: true },
      ),
    );
    const { user } = renderApp('/');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent("We couldn't load the catalog");
    expect(alert).toHaveTextContent('Catalog is resting.');

    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('link', { name: /Ocean Depths/ })).toBeInTheDocument();
  });

  it('keeps the list when "load more" fails and offers to try again', async () => {
    const { user } = renderApp('/');
    await screen.findByRole('link', { name: /Ocean Depths/ });
    server.use(http.get('/api/videos', () => HttpResponse.error(), { once: true }));

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('could not be reached');
    expect(cards()).toHaveLength(20);
    await user.click(screen.getByRole('button', { name: 'Try loading more again' }));
    await waitFor(() => expect(cards()).toHaveLength(40));
  });

  it('still works when categories cannot be loaded', async () => {
    server.use(http.get('/api/categories', () => HttpResponse.error()));
    renderApp('/');
    expect(await screen.findByText('Categories could not be loaded.')).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Category' })).toHaveAccessibleDescription(
      'Categories could not be loaded.',
    );
    expect(await screen.findByRole('link', { name: /Ocean Depths/ })).toBeInTheDocument();
  });

  it('shows the URL\'s search again when the URL changes under the page (home link)', async () => {
    const { user } = renderApp('/');
    await screen.findByRole('link', { name: /Ocean Depths/ });
    const search = screen.getByRole('searchbox', { name: 'Search titles' });
    await user.type(search, 'ocean');
    await waitFor(() => expect(cards()).toHaveLength(2));

    await user.click(screen.getByRole('link', { name: 'TAP Stream home' }));
    await waitFor(() => expect(cards()).toHaveLength(20));
    expect(search).toHaveValue('');
  });
});
