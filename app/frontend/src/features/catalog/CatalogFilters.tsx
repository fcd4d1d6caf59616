import type { Category } from '@/api/types';

interface Props {
  query: string;
  onQueryChange: (value: string) => void;
  category: string;
  onCategoryChange: (value: string) => void;
  categories: Category[];
  categoriesFailed: boolean;
}

export function CatalogFilters({
  query,
  onQueryChange,
  category,
  onCategoryChange,
  categories,
  categoriesFailed,
}: Props) {
  return (
    <form className="filters" role="search" aria-label="Catalog" onSubmit={(e) => e.preventDefault()}>
      <div className="field field--grow">
        <label htmlFor="catalog-search">Search titles</label>
        <input
          id="catalog-search"
          type="search"
          value={query}
          maxLength={100}
          placeholder="e.g. ocean"
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => onQueryChange(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="catalog-category">Category</label>
        <select
          id="catalog-category"
          value={category}
          onChange={(e) => onCategoryChange(e.target.value)}
          aria-describedby={categoriesFailed ? 'catalog-category-hint' : undefined}
        >
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c.slug} value={c.slug}>
              {c.name} ({c.video_count})
            </option>
          ))}
          {/* Keep a category from the URL selectable even before the list arrives. */}
          {category && !categories.some((c) => c.slug === category) && <option value={category}>{category}</option>}
        </select>
        {categoriesFailed && (
          <p id="catalog-category-hint" className="field__hint">
            Categories could not be loaded.
          </p>
        )}
      </div>
    </form>
  );
}
